#!/bin/sh
# The v0.4 guestbook's PHP page (examples/guestbook/php-redis/index.php) as a CGI script for busybox httpd:
# ?cmd=set&key=K&value=V writes K through the redismaster service and answers {"message": "Updated"};
# ?cmd=get&key=K reads K through the redisslave service and answers {"data": "V"}.
# Keys and values travel as redis bulk strings (length-prefixed), never as commands or shell words.

CR=$(printf '\r')

# The value of query parameter $1 (the first one given), percent-decoded ('+' is a space).
param() {
    printf '%s\n' "$QUERY_STRING" | tr '&' '\n' | sed -n "s/^$1=//p" | head -n 1 | awk '
        BEGIN { hex = "0123456789abcdef" }
        {
            s = $0; out = ""
            gsub(/\+/, " ", s)
            while ((i = index(s, "%")) > 0) {
                high = index(hex, tolower(substr(s, i + 1, 1))); low = index(hex, tolower(substr(s, i + 2, 1)))
                if (high && low) { out = out substr(s, 1, i - 1) sprintf("%c", (high - 1) * 16 + low - 1); s = substr(s, i + 3) }
                else { out = out substr(s, 1, i); s = substr(s, i + 1) }
            }
            printf "%s", out s
        }'
}

# The reply of redis at host $1, port $2 to one command (the remaining arguments), then QUIT so it hangs up.
redis() {
    host=$1 port=$2
    shift 2
    {
        printf '*%d\r\n' $#
        for arg in "$@"; do
            printf '$%d\r\n%s\r\n' "$(printf '%s' "$arg" | wc -c)" "$arg"
        done
        printf '*1\r\n$4\r\nQUIT\r\n'
    } | nc -w 5 "$host" "$port"
}

# Standard input as the contents of a JSON string.
json() {
    awk 'BEGIN { RS = "\001"; ORS = "" }
         { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, "\\r"); gsub(/\n/, "\\n"); print }'
}

answer() {
    printf 'Content-Type: application/json\r\n\r\n%s\n' "$1"
}

fail() {
    printf 'Status: 502 Bad Gateway\r\n'
    answer "{\"error\": \"$(printf '%s' "$1" | json)\"}"
    exit 0
}

case $(param cmd) in
set)
    reply=$(redis "$REDISMASTER_SERVICE_HOST" "$REDISMASTER_SERVICE_PORT" SET "$(param key)" "$(param value)")
    case $reply in
    "+OK$CR"*) answer '{"message": "Updated"}' ;;
    *) fail "redismaster: ${reply:-no answer}" ;;
    esac
    ;;
get)
    reply=$(redis "$REDISSLAVE_SERVICE_HOST" "$REDISSLAVE_SERVICE_PORT" GET "$(param key)"; echo .)
    header=${reply%%"$CR"*}
    case $header in
    '$-1') value= ;;
    '$'[0-9]*)
        rest=${reply#*"$CR"}
        value=$(printf '%s' "${rest#?}" | head -c "${header#?}"; echo .)
        value=${value%.}
        ;;
    *) fail "redisslave: ${header:-no answer}" ;;
    esac
    answer "{\"data\": \"$(printf '%s' "$value" | json)\"}"
    ;;
*)
    printf 'Content-Type: text/plain\r\n\r\nguestbook: ?cmd=set&key=K&value=V or ?cmd=get&key=K\n'
    ;;
esac
