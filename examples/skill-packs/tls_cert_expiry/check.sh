#!/bin/sh
# tls_cert_expiry: params as JSON on stdin, result as JSON on stdout, errors on stderr + exit 1.
# watchkeeper validated the params against skill.json's schema before running this, so a
# plain sed is enough to read them.
set -eu
input=$(cat)
field() { printf '%s' "$input" | sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\)\"\{0,1\}.*/\1/p"; }
host=$(field host)
port=$(field port); port=${port:-443}
servername=$(field servername); servername=${servername:-$host}
warn_days=$(field warn_days); warn_days=${warn_days:-21}

cert=$(openssl s_client -connect "$host:$port" -servername "$servername" </dev/null 2>/dev/null \
  | openssl x509 -noout -enddate -subject -issuer -nameopt oneline 2>/dev/null) || true
if [ -z "$cert" ]; then
  echo "no TLS certificate could be read from $host:$port" >&2
  exit 1
fi
end=$(printf '%s\n' "$cert" | sed -n 's/^notAfter=//p')
subject=$(printf '%s\n' "$cert" | sed -n 's/^subject=//p' | sed 's/\\/\\\\/g; s/"/\\"/g')
issuer=$(printf '%s\n' "$cert" | sed -n 's/^issuer=//p' | sed 's/\\/\\\\/g; s/"/\\"/g')
end_epoch=$(date -u -d "$end" +%s)
now=$(date -u +%s)
days_left=$(( (end_epoch - now) / 86400 ))
expiring=false
[ "$days_left" -lt "$warn_days" ] && expiring=true
printf '{"host":"%s","port":%s,"subject":"%s","issuer":"%s","not_after":"%s","days_left":%s,"expiring":%s}\n' \
  "$host" "$port" "$subject" "$issuer" "$(date -u -d "$end" +%Y-%m-%dT%H:%M:%SZ)" "$days_left" "$expiring"
