#!/usr/bin/env bash
# Installs what the worker's sandbox needs on a Debian/Ubuntu host, where it is missing (docs/worker.md#security-model):
#   - bubblewrap (bwrap), which `worker.isolation: sandbox` runs every action under;
#   - the dedicated unprivileged user `attune-action` that a root worker runs actions as (worker.run_as).
# With --bench-tools, also hyperfine, which `pnpm bench` uses to measure the OS floor.
# With --test-identity, also the user `attune-test-action`, which the tests run `user`-mode workers as: a `user`-mode
# worker kills every leftover process of its identity after each execution, so it must not share one with the
# sandbox-mode workers of tests running at the same time (docs/worker.md#security-model).
# With --test-tools, also zsh, which the CLI's completion tests run (bash is always there).
# Idempotent. Needs root for what is missing; without root it only reports. Exits non-zero if something is still
# missing afterwards. CI (.ci/run) runs it so that the tests exercise the sandbox.
set -u

packages=(bubblewrap)
commands=(bwrap)
users=(attune-action)
for arg in "$@"; do
  case "$arg" in
    --bench-tools) packages+=(hyperfine); commands+=(hyperfine) ;;
    --test-identity) users+=(attune-test-action) ;;
    --test-tools) packages+=(zsh); commands+=(zsh) ;;
    *) echo "usage: $0 [--bench-tools] [--test-identity] [--test-tools]" >&2; exit 2 ;;
  esac
done

missing=()
for i in "${!commands[@]}"; do
  command -v "${commands[$i]}" >/dev/null 2>&1 || missing+=("${packages[$i]}")
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi
}

status=0
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null; then
    echo "install-sandbox: missing ${missing[*]}; this script installs with apt-get only: install them with your package manager" >&2
    status=1
  elif as_root true 2>/dev/null; then
    echo "install-sandbox: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The package lists of a fresh machine may be empty or stale: refresh them once, then install.
    { as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; } ||
      { as_root apt-get update -qq >/dev/null 2>&1 && as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
      { echo "install-sandbox: apt-get could not install ${missing[*]}" >&2; status=1; }
  else
    echo "install-sandbox: missing ${missing[*]}; run this script as root (or: sudo apt-get install ${missing[*]})" >&2
    status=1
  fi
fi

for user in "${users[@]}"; do
  getent passwd "$user" >/dev/null 2>&1 && continue
  if as_root true 2>/dev/null && command -v useradd >/dev/null; then
    as_root useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      --user-group "$user" && echo "install-sandbox: created the user $user"
  else
    echo "install-sandbox: no user $user (a root worker then runs actions as nobody); create it as root:" \
      "useradd --system --no-create-home --shell /usr/sbin/nologin --user-group $user" >&2
  fi
done

if command -v bwrap >/dev/null 2>&1; then
  if ! bwrap --unshare-user --unshare-pid --ro-bind / / true 2>/dev/null &&
    ! setpriv --reuid=65534 --regid=65534 --clear-groups -- bwrap --unshare-user --unshare-pid --ro-bind / / true 2>/dev/null; then
    echo "install-sandbox: bwrap is installed but cannot create namespaces here: allow unprivileged user namespaces" \
      "(sysctl user.max_user_namespaces=15000; on Ubuntu 24.04+ also kernel.apparmor_restrict_unprivileged_userns=0)" >&2
    status=1
  fi
fi
exit "$status"
