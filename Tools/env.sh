# Sourced (not run) by the Tools/ scripts: sets QUIVER_ROOT and puts Swift on PATH.
QUIVER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export QUIVER_ROOT
# A toolchain unpacked to /opt/swift is used when no swift is on PATH yet.
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
