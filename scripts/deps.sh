#!/bin/sh
# Installs the Debian packages medqa needs to build, run and test, when they
# are missing. As root it runs apt-get; otherwise it prints the command.
set -eu
pkgs="gcc make pkg-config libmicrohttpd-dev libjansson-dev libpq-dev uuid-dev
libyaml-dev zlib1g-dev libssl-dev libpcre2-dev libcmocka-dev postgresql
postgresql-contrib pgbouncer nodejs curl clang-format cppcheck chromium
libcurl4-openssl-dev libxml2-dev jing trang $*"
# Node.js builds from outside Debian ship npm inside the nodejs package (and
# conflict with Debian's npm); Debian's own nodejs needs the npm package.
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
missing=""
for p in $pkgs; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "medqa needs these packages; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
