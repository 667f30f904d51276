#!/bin/bash
# Start the KRaft node: fill the secrets into server.properties, format the storage once
# (creating the admin SCRAM credential, which the broker itself logs in with), then run.
set -euo pipefail
: "${KAFKA_ADMIN_PASSWORD:?set it in deploy/.env}" "${KAFKA_CLUSTER_ID:?set it in deploy/.env}"
export KAFKA_AGENCY_HOST="${KAFKA_AGENCY_HOST:-localhost}"
config=/tmp/server.properties
sed -e "s|\${KAFKA_ADMIN_PASSWORD}|${KAFKA_ADMIN_PASSWORD}|" \
    -e "s|\${KAFKA_AGENCY_HOST}|${KAFKA_AGENCY_HOST}|" \
    /etc/envwatch/kafka/server.properties > "$config"
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  /opt/kafka/bin/kafka-storage.sh format --config "$config" --cluster-id "$KAFKA_CLUSTER_ID" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_ADMIN_PASSWORD}]"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$config"
