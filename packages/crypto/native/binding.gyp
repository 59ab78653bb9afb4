{
  "targets": [
    {
      "target_name": "attune_gcm",
      "sources": ["attune_gcm.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-fvisibility=hidden"],
      "xcode_settings": { "OTHER_CFLAGS": ["-Wall", "-Wextra", "-fvisibility=hidden"] }
    }
  ]
}
