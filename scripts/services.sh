#!/usr/bin/env bash
# Make sure the peers the tests use are here and running: the command-line tools
# (sslscan, openssl, nft, iptables-restore, net-snmp, rsyslog, logger, tshark), Chromium
# for the console's browser tests, and the PostgreSQL and MariaDB servers on
# 127.0.0.1:5432 and :3306. Safe to run again; it only acts on what is missing.
set -euo pipefail

need_apt=()
command -v sslscan >/dev/null || need_apt+=(sslscan)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v nft >/dev/null || need_apt+=(nftables)
command -v iptables-restore >/dev/null || need_apt+=(iptables)
command -v pg_isready >/dev/null || need_apt+=(postgresql)
command -v mysqladmin >/dev/null || need_apt+=(mariadb-server)
command -v snmptrap >/dev/null || need_apt+=(snmp)
command -v snmpd >/dev/null || need_apt+=(snmpd)
command -v snmptrapd >/dev/null || need_apt+=(snmptrapd)
command -v rsyslogd >/dev/null || need_apt+=(rsyslog)
dpkg -s rsyslog-openssl >/dev/null 2>&1 || need_apt+=(rsyslog-openssl)
command -v logger >/dev/null || need_apt+=(bsdutils)
command -v curl >/dev/null || need_apt+=(curl)
# The Responder's peers: an MTA (Exim, STARTTLS and AUTH), FreeRADIUS and radclient.
command -v exim >/dev/null || need_apt+=(exim4-daemon-light)
command -v freeradius >/dev/null || need_apt+=(freeradius)
command -v radclient >/dev/null || need_apt+=(freeradius-utils)
# Reads the pcap files of pcaps/* (and ipsim's packet traces) in the tests.
command -v tshark >/dev/null || need_apt+=(tshark)
# The console's browser tests drive Debian's Chromium headless (Playwright's own browser
# download cannot work here), with fonts so the screenshots show text.
command -v chromium >/dev/null || need_apt+=(chromium)
dpkg -s fonts-liberation >/dev/null 2>&1 || need_apt+=(fonts-liberation)
if ((${#need_apt[@]})); then
  echo "services: installing ${need_apt[*]}"
  apt-get update -qq
  # wireshark-common asks whether non-root users may capture; answer no, without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

wait_for() {  # wait_for NAME COMMAND...: up to 60 s
  local name=$1; shift
  for _ in $(seq 60); do
    if "$@" >/dev/null 2>&1; then echo "services: $name is up"; return 0; fi
    sleep 1
  done
  echo "services: $name did not come up within 60 s" >&2
  return 1
}

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "services: starting PostgreSQL"
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
fi
wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432

if ! mysqladmin -h 127.0.0.1 -u root ping >/dev/null 2>&1; then
  echo "services: starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
fi
wait_for MariaDB mysqladmin -h 127.0.0.1 -u root ping
