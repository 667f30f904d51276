#!/bin/bash
# Principals and ACLs, run once the broker is up (compose service kafka-setup; safe to re-run).
#   envwatch          the pipeline: reads the feed topics, writes dead letters and alerts,
#                     owns its consumer group and Faust's internal topics (prefix envwatch).
#   agency-<feed>     one per agency: may write to its own feed topic envwatch.<feed> only.
#                     The feeds are those of the registry: one per contract published in
#                     schemas/feeds (<feed>.schema.json, generated from it), mounted at
#                     $KAFKA_FEEDS_DIR.
# Passwords come from the secret files (deploy/secrets): kafka_pipeline_password and
# agency_<feed>_password; the admin logs in with kafka_admin_password.
set -euo pipefail
here="$(dirname "$0")"
source "$here/lib.sh"
bin="${KAFKA_BIN:-/opt/kafka/bin}"
server="${KAFKA_SERVER:-kafka:9092}"
shopt -s nullglob
schemas=("${KAFKA_FEEDS_DIR:-/etc/envwatch/feeds}"/*.schema.json)
if (( ${#schemas[@]} == 0 )); then
  echo "$0: no feed schemas in ${KAFKA_FEEDS_DIR:-/etc/envwatch/feeds}: mount schemas/feeds" >&2
  exit 1
fi
run="$(mktemp -d)"
trap 'rm -rf "$run"' EXIT
admin="$run/admin.properties"
admin_password="$(read_secret kafka_admin_password)"  # a failed read stops the script (set -e)
client_config "$admin" "$admin_password"
unset admin_password

user() {  # user NAME SECRET: create or reset NAME's SCRAM-SHA-512 credential
  # kafka-configs --add-config-file reads a .properties file whose value is what its credential
  # pattern expects, `[iterations=N,]password=...` (no brackets, unlike --add-config); the file
  # keeps the password off the command line (a value the tool refuses, it would print).
  local file="$run/$1.properties" password
  password="$(read_secret "$2")"
  (umask 077 && printf 'SCRAM-SHA-512=iterations=8192,password=%s\n' \
    "$(properties_value "$password")" > "$file")
  "$bin/kafka-configs.sh" --bootstrap-server "$server" --command-config "$admin" --alter \
    --entity-type users --entity-name "$1" --add-config-file "$file"
  rm -f "$file"
}
acl() {
  "$bin/kafka-acls.sh" --bootstrap-server "$server" --command-config "$admin" --add "$@"
}

user envwatch kafka_pipeline_password
acl --allow-principal User:envwatch --operation All --resource-pattern-type prefixed \
    --topic envwatch --group envwatch --transactional-id envwatch
acl --allow-principal User:envwatch --operation Create --operation DescribeConfigs --cluster

for schema in "${schemas[@]}"; do
  feed="$(basename "$schema" .schema.json)"
  user "agency-$feed" "agency_${feed}_password"
  acl --allow-principal "User:agency-$feed" --operation Write --operation Describe \
      --topic "envwatch.$feed"
done
"$bin/kafka-acls.sh" --bootstrap-server "$server" --command-config "$admin" --list
