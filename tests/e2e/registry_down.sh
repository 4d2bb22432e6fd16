# Stops the registries registry_up.sh started, by the PIDs it recorded (never by name).
: "${REGROOT:?}"
[ -f "$REGROOT/pids" ] || exit 0
while read -r pid; do
    kill "$pid" 2>/dev/null || true
done < "$REGROOT/pids"
sleep 0.2
while read -r pid; do
    kill -9 "$pid" 2>/dev/null || true
done < "$REGROOT/pids"
rm -f "$REGROOT/pids"
exit 0
