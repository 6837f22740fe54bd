#!/bin/sh
# The Docker image's entrypoint: run `amc ARGS` as an unprivileged user that can write
# to the bind mounts.
#
# Started as root (the image's default), it runs amc as the owner of the data folder
# (/data, where compose and `docker run -v "$PWD:/data"` mount your files), so what amc
# writes there belongs to you on the host. A data folder owned by root is given to the
# image's user amc (uid 10001) when it is empty (Docker made it), else amc runs as uid
# 10001 and says that it may not be able to write there. The state folder (AMC_HOME, a
# volume) is given to the same user. Started with `--user UID:GID`, it changes nothing
# and runs amc as that user.
set -eu
data="${AMC_DATA_DIR:-/data}"
home="${AMC_HOME:-/var/lib/amc}"
if [ "$(id -u)" != 0 ]; then
    exec amc "$@"
fi
uid=10001
gid=10001
if [ -d "$data" ] && [ "$(stat -c %u "$data")" != 0 ]; then
    uid=$(stat -c %u "$data")
    gid=$(stat -c %g "$data")
elif [ -d "$data" ] && [ -z "$(ls -A "$data")" ]; then
    chown "$uid:$gid" "$data"
elif [ -d "$data" ]; then
    echo "amc: $data is owned by root: amc runs as uid $uid and may not write there" \
        "(chown it, or start the container with --user)" >&2
fi
mkdir -p "$home"
if [ "$(stat -c %u "$home")" != "$uid" ]; then
    chown -R "$uid:$gid" "$home"
fi
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups env HOME="$home" amc "$@"
