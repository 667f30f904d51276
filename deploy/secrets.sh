#!/bin/sh
# Creates the compose stack's secret files in deploy/secrets/, one per secret that
# docker-compose.yml declares: a random password or token where the file is missing, and an
# empty file for each of the relay's robot settings and signing secrets (the README's "The
# production stack" says what each holds; an empty one disables that channel or feature).
# Files that exist are kept, so it is safe to re-run.
#
# Any printable ASCII characters work in a password you set yourself (Grafana and Alertmanager
# trim a leading or trailing blank). Hand each agency its agency_<feed>_password.
# The folder is private to you; the files in it are readable by all, because each container
# reads them as its own user.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/deploy/secrets"
mkdir -p "$dir"
chmod 700 "$dir"
for name in $(sed -n 's|^ *file: \./deploy/secrets/||p' "$root/docker-compose.yml"); do
  file="$dir/$name"
  if [ ! -e "$file" ]; then
    case "$name" in
      *_password|*_token) head -c 24 /dev/urandom | base64 | tr -d '\n' > "$file" ;;
      *) : > "$file" ;;
    esac
    echo "created $file"
  fi
  chmod 644 "$file"
done
