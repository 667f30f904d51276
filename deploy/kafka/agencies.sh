#!/bin/bash
# Principals and ACLs, run once the broker is up (compose service kafka-setup; safe to re-run).
#   envwatch          the pipeline: reads the feed topics, writes dead letters and alerts,
#                     owns its consumer group and Faust's internal topics (prefix envwatch).
#   agency-<feed>     one per agency: may write to its own feed topic envwatch.<feed> only.
# Passwords come from deploy/.env: ENVWATCH_KAFKA_PASSWORD and AGENCY_<FEED>_PASSWORD.
set -euo pipefail
bin=/opt/kafka/bin
server=kafka:9092
admin=/tmp/admin.properties
cat > "$admin" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
PROPS

user() {  # user NAME PASSWORD: create or reset a SCRAM-SHA-512 credential
  # The password goes through a private file, never on a command line (seen in the process
  # list); printf is a shell builtin, so it runs in no process of its own either.
  local file
  file=$(mktemp)
  chmod 600 "$file"
  printf 'SCRAM-SHA-512=[password=%s]\n' "$2" > "$file"
  "$bin/kafka-configs.sh" --bootstrap-server "$server" --command-config "$admin" --alter \
    --entity-type users --entity-name "$1" --add-config-file "$file"
  rm -f "$file"
}
acl() {
  "$bin/kafka-acls.sh" --bootstrap-server "$server" --command-config "$admin" --add "$@"
}

user envwatch "${ENVWATCH_KAFKA_PASSWORD:?}"
acl --allow-principal User:envwatch --operation All --resource-pattern-type prefixed \
    --topic envwatch --group envwatch --transactional-id envwatch
acl --allow-principal User:envwatch --operation Create --operation DescribeConfigs --cluster

for feed in air water energy; do
  var="AGENCY_${feed^^}_PASSWORD"
  user "agency-$feed" "${!var:?set $var in deploy/.env}"
  acl --allow-principal "User:agency-$feed" --operation Write --operation Describe \
      --topic "envwatch.$feed"
done
"$bin/kafka-acls.sh" --bootstrap-server "$server" --command-config "$admin" --list
