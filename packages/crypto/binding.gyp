{
  "targets": [
    {
      "target_name": "attune_gcm",
      "sources": ["native/attune_gcm.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O2", "-Wall", "-Wextra", "-fvisibility=hidden"] }
    }
  ]
}
