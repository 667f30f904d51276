# Shared by start.sh and agencies.sh (sourced): secrets read from files and written into Kafka's
# configuration files, escaped for them, by the shell itself, so that no password is ever an
# argument of a process (visible in the process list) and any printable ASCII character works.
# (Kafka reads .properties files as ISO-8859-1: other characters would need \uXXXX escapes.)

secrets="${KAFKA_SECRETS_DIR:-/run/secrets}"

read_secret() {  # read_secret NAME: the secret file's content, less trailing newlines
  local file="$secrets/$1" value
  if [ ! -s "$file" ]; then
    echo "$0: $file is missing or empty: run deploy/secrets.sh" >&2
    return 1
  fi
  value=$(<"$file")
  printf '%s' "$value"
}

jaas_string() {  # jaas_string VALUE: a quoted JAAS option value, \ and " escaped
  local backslash='\\' quote='\"' value
  value=${1//\\/"$backslash"}
  value=${value//\"/"$quote"}
  printf '"%s"' "$value"
}

properties_value() {  # properties_value VALUE: a value for a Java .properties file
  local backslash='\\' value
  value=${1//\\/"$backslash"}
  if [[ $value == [[:space:]]* ]]; then value="\\$value"; fi  # a leading blank would be dropped
  printf '%s' "$value"
}

client_config() {  # client_config FILE PASSWORD: the admin's login on INTERNAL, a private file
  local jaas
  jaas="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=$(jaas_string "$2");"
  (umask 077 && printf '%s\n' \
    "security.protocol=SASL_PLAINTEXT" \
    "sasl.mechanism=PLAIN" \
    "sasl.jaas.config=$(properties_value "$jaas")" > "$1")
}
