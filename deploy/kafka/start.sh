#!/bin/bash
# Start the KRaft node: fill the placeholders of server.properties into a private copy, write
# the admin's client login for the health check, format the storage once, then run the broker.
# The admin's password comes from the secret file and reaches only those two private files.
set -euo pipefail
here="$(dirname "$0")"
source "$here/lib.sh"
bin="${KAFKA_BIN:-/opt/kafka/bin}"
run="${KAFKA_RUN_DIR:-/tmp}"  # private to this container
data="${KAFKA_DATA_DIR:-/var/lib/kafka/data}"
: "${KAFKA_CLUSTER_ID:?set KAFKA_CLUSTER_ID in .env (kafka-storage.sh random-uuid)}"

admin="$(read_secret kafka_admin_password)"
admin_jaas="$(properties_value "$(jaas_string "$admin")")"
agency_host="${KAFKA_AGENCY_HOST:-localhost}"
config="$(<"$here/server.properties")"
config="${config//'${KAFKA_ADMIN_JAAS}'/"$admin_jaas"}"
config="${config//'${KAFKA_AGENCY_HOST}'/"$agency_host"}"
(umask 077 && printf '%s\n' "$config" > "$run/server.properties")
client_config "$run/admin.properties" "$admin"  # the health check's login (docker-compose.yml)

if [ ! -f "$data/meta.properties" ]; then
  "$bin/kafka-storage.sh" format --config "$run/server.properties" --cluster-id "$KAFKA_CLUSTER_ID"
fi
exec "$bin/kafka-server-start.sh" "$run/server.properties"
