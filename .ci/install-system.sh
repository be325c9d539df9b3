#!/usr/bin/env bash
# Installs the system packages strata's CI needs on Debian bookworm (as root):
# Mesa 25 lavapipe (CPU Vulkan) from bookworm-backports for Dawn, the Vulkan loader, and Debian's Chromium.
# Idempotent: a second run only re-checks.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need_install=0
if ! dpkg -s mesa-vulkan-drivers 2>/dev/null | grep -q '^Version: 25'; then need_install=1; fi
for pkg in libvulkan1 chromium; do dpkg -s "$pkg" >/dev/null 2>&1 || need_install=1; done
if [ "$need_install" = 0 ]; then echo "system packages already installed"; exit 0; fi
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  cat > /etc/apt/sources.list.d/bookworm-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "installed: mesa-vulkan-drivers $(dpkg -s mesa-vulkan-drivers | sed -n 's/^Version: //p'), chromium $(dpkg -s chromium | sed -n 's/^Version: //p')"
