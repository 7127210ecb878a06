#!/bin/sh
# Daily pg_dump of the Babelroom database, keeping the newest $BACKUP_KEEP dumps (default 7 = one week).
#
#   pg-backup.sh          loop: dump once a day at $BACKUP_AT (HH:MM, UTC), forever (the stack service)
#   pg-backup.sh once     dump now and exit (docs/deploy.md: "back up now")
#
# Environment: PGHOST PGPORT PGUSER PGDATABASE (libpq), PGPASSWORD_FILE (Docker secret),
# BACKUP_DIR (/backups), BACKUP_AT (03:00), BACKUP_KEEP (7).
# Dumps are pg_dump's custom format (-Fc), restored with pg_restore (see docs/deploy.md).
set -eu

BACKUP_DIR="${BACKUP_DIR:-/backups}"
BACKUP_AT="${BACKUP_AT:-03:00}"
BACKUP_KEEP="${BACKUP_KEEP:-7}"

if [ -n "${PGPASSWORD_FILE:-}" ]; then
	PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
	export PGPASSWORD
fi

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) pg-backup: $*"; }

dump_once() {
	mkdir -p "$BACKUP_DIR"
	stamp="$(date -u +%Y-%m-%dT%H%M%SZ)"
	final="$BACKUP_DIR/${PGDATABASE:-babelroom}-$stamp.dump"
	tmp="$final.partial"
	log "dumping ${PGDATABASE:-babelroom} to $final"
	if pg_dump -Fc --no-owner -f "$tmp"; then
		mv "$tmp" "$final"
	else
		rm -f "$tmp"
		log "pg_dump failed"
		return 1
	fi
	# Keep the newest $BACKUP_KEEP complete dumps (names sort by time).
	find "$BACKUP_DIR" -maxdepth 1 -name '*.dump' | sort -r | tail -n +"$((BACKUP_KEEP + 1))" | while read -r old; do
		log "removing $old"
		rm -f "$old"
	done
	log "done: $(find "$BACKUP_DIR" -maxdepth 1 -name '*.dump' | wc -l) dump(s) kept"
}

seconds_until() {
	# Seconds from now until the next $1 (HH:MM, UTC).
	now="$(date -u +%s)"
	next="$(date -u -d "$(date -u +%Y-%m-%d) $1" +%s)"
	if [ "$next" -le "$now" ]; then
		next=$((next + 86400))
	fi
	echo $((next - now))
}

case "${1:-loop}" in
	once)
		dump_once
		;;
	loop)
		log "daily at $BACKUP_AT UTC, keeping $BACKUP_KEEP dumps in $BACKUP_DIR"
		while true; do
			sleep "$(seconds_until "$BACKUP_AT")"
			dump_once || log "will retry at the next $BACKUP_AT"
		done
		;;
	*)
		echo "usage: $0 [once|loop]" >&2
		exit 2
		;;
esac
