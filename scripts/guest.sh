#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot rvirtio's QEMU test guest (TCG, q35) and run one command in it.
#
#   scripts/guest.sh [OPTIONS] --run 'COMMAND'   run COMMAND, power off, exit
#                                                 with its status
#   scripts/guest.sh [OPTIONS] --shell           interactive shell (Ctrl-A x
#                                                 kills QEMU)
#
# Options:
#   --kernel BZIMAGE    kernel (default: the debug build's bzImage)
#   --initramfs FILE    base initramfs, gzip'ed or not (default: an
#                       uncompressed copy of scripts/mkinitramfs.sh's)
#   --module KO         put KO in the guest as /modules/NAME.ko and in a
#                       depmod'ed /lib/modules/RELEASE/extra/ (repeatable)
#   --tree DIR          copy DIR's contents into the guest's / (repeatable;
#                       e.g. an installed kselftest tree)
#   --disk SPEC         add a disk (repeatable); SPEC is KEY=VALUE,...:
#                         id=d0           QEMU device id and block node name
#                                         (default dN, N counting from 0)
#                         size=256M       sparse raw image in the work dir
#                         serial=S        the device's serial
#                         file=PATH       use this image instead
#                         nbd=SOCKET      an NBD export on a unix socket instead
#                                         (export=NAME picks the export)
#                         nbdkit=FILTERS  an nbdkit of its own instead: the
#                                         memory plugin (size=), on a unix
#                                         socket in the work dir, with the
#                                         +-separated FILTERS out of pause,
#                                         delay, error (may be empty); the
#                                         control channel's nbd-* commands
#                                         drive them
#                         delay-read=T    with nbdkit=...delay: the delay
#                         delay-write=T   filter's (nbdkit syntax: 200ms, 2;
#                                         default 0)
#                         type=T          device type (default virtio-blk-pci)
#                         readonly=on     a read-only backend (the device
#                                         then offers VIRTIO_BLK_F_RO)
#                         rom=ones        give the PCI function a 64 KiB
#                                         option ROM of all ones (0xff),
#                                         which a test can map over the
#                                         device's registers: the driver then
#                                         reads all ones, as from a device
#                                         gone from its bus (for a scsi-hd
#                                         disk, the first: its host's)
#                         vhost=OPTS      a vhost-user-blk-pci device served by
#                                         rvirtio-vub (tests/vhost-user-blk),
#                                         a RAM disk of size= (or file=) on a
#                                         socket in the work dir; OPTS are
#                                         +-separated rvirtio-vub options
#                                         without their --, NAME or NAME=VALUE
#                                         (e.g. seg-max=0+blk-size=4096+wce;
#                                         exec=hold:on runs `hold on` at
#                                         start). serial=, readonly=on and
#                                         num-queues= go to the backend too;
#                                         the control channel's `vub ID CMD`
#                                         drives it. type=vhost-user-blk is
#                                         vhost= with no OPTS
#                         type=scsi-hd    a LUN of the guest's virtio-scsi
#                                         host (id scsi0, created with the
#                                         first such disk behind its own
#                                         root port); scsi-id=N (default:
#                                         the N-th scsi-hd disk) and lun=N
#                                         (default 0) place it
#                         opts=P=V,...    device properties; takes the rest of
#                                         SPEC, so it comes last
#                         any other K=V   a device property too
#                       Each disk sits alone behind its own pcie-root-port
#                       (id rpN, chassis=slot=N), so it can be hot-unplugged.
#   --spare-ports N     N more empty root ports (ids rpN...) for device_add
#   --run 'COMMAND'     what the guest runs (as `sh /run.sh`, cwd /tmp)
#   --shell             an interactive shell (after COMMAND, if --run too)
#   --env NAME=VALUE    set in the guest's environment (repeatable)
#   --timeout SECS      kill QEMU after SECS (exit status 124)
#   --exit-grace SECS   with --quiet: once the guest printed its exit marker,
#                       give it SECS to power off, then stop QEMU (exit status
#                       the marker's). For guests whose I/O may have hung
#                       (make bench): shutting such a disk down hangs too
#   --log FILE          write the whole console output to FILE; the control
#                       channel's log goes to FILE.ctl, nbdkit ID's stderr to
#                       FILE.nbdkit-ID, rvirtio-vub ID's to FILE.vub-ID
#   --quiet             console output to the log only, not to stdout
#   --qmp SOCKET        a QMP server on unix SOCKET for the host's own use
#   --append 'ARGS'     more kernel command line
#   --qemu-arg ARG      one more QEMU argument (repeatable)
#   --keep              keep the work dir (disk images, logs) and say where
#
# Exit status: the guest command's (printed by the guest's /init as
# "RVIRTIO-EXIT: N"), 124 on timeout, 125 if the guest died without an exit
# marker (a panic, a crash), 2 for a usage error.
#
# The guest's ttyS1 is the control channel to scripts/guest-ctl.py; the
# guest calls it with `host COMMAND ARGS` (tests/guest/lib.sh).
#
# rvirtio-vub is built on demand (cargo build --release, in
# tests/vhost-user-blk/target/release/); RVIRTIO_VUB=PATH uses that binary
# instead.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$here/env.sh"

PYTHON=/usr/bin/python3

usage() {
	sed -n '/^# Boot/,/^set -euo/{/^set/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit 2
}

die() {
	echo "guest.sh: $*" >&2
	exit 2
}

kernel='' initramfs='' run_cmd='' shell=0 timeout_s=0 log='' quiet=0 user_qmp='' append='' keep=0
exit_grace=0
spare_ports=0
modules=() disks=() envs=() qemu_extra=() trees=()
have_run=0
while [ $# -gt 0 ]; do
	opt=$1
	case "$opt" in
	--shell | --quiet | --keep | -h | --help) ;;
	*)
		[ $# -ge 2 ] || die "$opt needs a value"
		val=$2
		shift
		;;
	esac
	shift
	case "$opt" in
	--kernel) kernel=$val ;;
	--initramfs) initramfs=$val ;;
	--module) modules+=("$val") ;;
	--tree) trees+=("$val") ;;
	--disk) disks+=("$val") ;;
	--spare-ports) spare_ports=$val ;;
	--run) run_cmd=$val have_run=1 ;;
	--shell) shell=1 ;;
	--env) envs+=("$val") ;;
	--timeout) timeout_s=$val ;;
	--exit-grace) exit_grace=$val ;;
	--log) log=$val ;;
	--quiet) quiet=1 ;;
	--qmp) user_qmp=$val ;;
	--append) append=$val ;;
	--qemu-arg) qemu_extra+=("$val") ;;
	--keep) keep=1 ;;
	-h | --help) usage ;;
	*) die "unknown option $opt (--help)" ;;
	esac
done
[ "$have_run" = 1 ] || [ "$shell" = 1 ] || die "give --run 'COMMAND' or --shell"
case "$timeout_s" in '' | *[!0-9]*) die "--timeout wants whole seconds" ;; esac
case "$spare_ports" in '' | *[!0-9]*) die "--spare-ports wants a number" ;; esac

"$here/setup.sh" guest

if [ -z "$kernel" ]; then
	kernel=$("$here/build-kernel.sh" debug --print)/arch/x86/boot/bzImage
fi
[ -f "$kernel" ] || die "no kernel at $kernel (scripts/build-kernel.sh debug)"
if [ -z "$initramfs" ]; then
	initramfs=$("$here/mkinitramfs.sh" --print-uncompressed)
fi
[ -f "$initramfs" ] || die "no initramfs at $initramfs"
# A kernel inside a build tree brings that tree's modules.builtin along.
kdir=
case "$kernel" in
*/arch/x86/boot/bzImage) kdir=${kernel%/arch/x86/boot/bzImage} ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/rvirtio-guest.XXXXXX")
ctl_pid='' qemu_log=$work/console.log
backend_pids=() watchdog_pid=''
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	local pid
	if [ -n "$ctl_pid" ]; then
		kill "$ctl_pid" 2>/dev/null || true
		wait "$ctl_pid" 2>/dev/null || true
	fi
	if [ -n "$watchdog_pid" ]; then
		kill "$watchdog_pid" 2>/dev/null || true
		wait "$watchdog_pid" 2>/dev/null || true
	fi
	# SIGKILL: a paused nbdkit with requests waiting does not exit on
	# SIGTERM (it waits for them). The same for rvirtio-vub.
	for pid in "${backend_pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ "$keep" = 1 ]; then
		echo "guest.sh: work dir kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Quote VALUE for a POSIX shell.
shquote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# ---------------------------------------------------- the modules cpio --
mods=$work/modroot
mkdir -p "$mods/modules" "$mods/rvirtio"
releases=()
for ko in "${modules[@]}"; do
	[ -f "$ko" ] || die "no module at $ko"
	name=$(basename "$ko" .ko)
	krel=$(modinfo -F vermagic "$ko" | awk '{ print $1 }')
	[ -n "$krel" ] || die "$ko has no vermagic"
	mkdir -p "$mods/lib/modules/$krel/extra"
	cp "$ko" "$mods/lib/modules/$krel/extra/$name.ko"
	echo "extra/$name.ko" >>"$mods/lib/modules/$krel/modules.order"
	ln -sf "/lib/modules/$krel/extra/$name.ko" "$mods/modules/$name.ko"
	case " ${releases[*]} " in *" $krel "*) ;; *) releases+=("$krel") ;; esac
done
for krel in "${releases[@]}"; do
	for f in modules.builtin modules.builtin.modinfo; do
		if [ -n "$kdir" ] && [ -f "$kdir/$f" ]; then
			cp "$kdir/$f" "$mods/lib/modules/$krel/"
		fi
	done
	depmod -b "$mods" "$krel"
done
{
	for e in "${envs[@]}"; do
		case "$e" in
		[A-Za-z_]*=*) ;;
		*) die "--env wants NAME=VALUE, not '$e'" ;;
		esac
		printf '%s=%s\n' "${e%%=*}" "$(shquote "${e#*=}")"
	done
} >"$mods/rvirtio/env"
for t in "${trees[@]}"; do
	[ -d "$t" ] || die "--tree $t: no such directory"
	cp -a "$t/." "$mods/"
done
if [ "$have_run" = 1 ]; then
	printf '%s\n' "$run_cmd" >"$mods/run.sh"
fi
[ "$shell" = 0 ] || : >"$mods/rvirtio/shell"
(cd "$mods" && find . -print0 | LC_ALL=C sort -z | cpio -0 -o -H newc -R 0:0 --quiet |
	gzip -1 -n) >"$work/modules.cpio.gz"
# The kernel unpacks concatenated cpio archives, compressed or not, in turn.
cat "$initramfs" "$work/modules.cpio.gz" >"$work/initrd"

# ------------------------------------------------------------ the disks --
nbdkit_exit_with_parent=()
if nbdkit --dump-config 2>/dev/null | grep -qx 'exit_with_parent=yes'; then
	nbdkit_exit_with_parent=(--exit-with-parent)
fi

# nbdkit must end with this shell, even if it is SIGKILLed. --exit-with-parent
# is not enough: it sends SIGTERM (nbdkit -f even sets that parent-death
# signal without it, over any other), and a paused nbdkit with requests
# waiting does not exit on SIGTERM until they complete, i.e. never. So a
# watchdog, a child of this shell, SIGKILLs the nbdkits (and rvirtio-vubs)
# once this shell is gone, which it sees by being re-parented.
start_nbdkit_watchdog() {
	(
		me=$BASHPID # not inside $(...), whose BASHPID is its own
		while [ "$(ps -o ppid= -p "$me" | tr -d ' ')" = "$$" ]; do
			sleep 1
		done
		kill -KILL "${backend_pids[@]}" 2>/dev/null
	) </dev/null >/dev/null 2>&1 &
	watchdog_pid=$!
}

# launch_backend CMDFILE LOG TEST FILE CMD...: a disk's backend. Records
# CMD in CMDFILE, starts it in the background with its output in LOG (it
# ends with this shell: backend_pids), and waits up to 10 s until
# `test TEST FILE` holds, i.e. it is ready; false if it is not, or if CMD
# ended first.
launch_backend() {
	local cmdf=$1 out=$2 op=$3 ready=$4 pid
	shift 4
	printf '%q ' "$@" >"$cmdf"
	echo >>"$cmdf"
	"$@" </dev/null >"$out" 2>&1 &
	pid=$!
	backend_pids+=("$pid")
	for _ in $(seq 200); do
		test "$op" "$ready" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	test "$op" "$ready"
}

# start_nbdkit ID SIZE FILTERS DELAY_READ DELAY_WRITE: start an nbdkit serving
# a SIZE memory disk on $work/ID.nbd.sock through FILTERS (+-separated: pause,
# delay, error) and wait until it listens. Sets nbd (the socket) and
# nbdkit_keys (the control paths, as ,KEY=VALUE for guest-ctl.py).
start_nbdkit() {
	local id=$1 size=$2 filters=$3 delay_read=$4 delay_write=$5
	local f pause=0 delay=0 error=0 pidf=$work/$id.nbdkit.pid nlog args
	local -a fl
	IFS=+ read -r -a fl <<<"$filters"
	for f in "${fl[@]}"; do
		case "$f" in
		pause) pause=1 ;;
		delay) delay=1 ;;
		error) error=1 ;;
		'') ;;
		*) die "--disk $spec: nbdkit filter '$f' is not pause, delay or error" ;;
		esac
	done
	if [ "$delay" = 0 ] && [ -n "$delay_read$delay_write" ]; then
		die "--disk $spec: delay-read= and delay-write= need nbdkit=...delay"
	fi
	nbd=$work/$id.nbd.sock
	[ "${#nbd}" -lt 100 ] || die "--disk $spec: socket path $nbd is too long (TMPDIR)"
	nlog=$work/$id.nbdkit.log
	[ -z "$log" ] || nlog=$log.nbdkit-$id
	# Unix socket only (-U: no TCP); in the foreground, so that it is this
	# shell's child.
	args=(nbdkit -f -U "$nbd" -P "$pidf" "${nbdkit_exit_with_parent[@]}")
	# Outermost first: a paused request has not reached the delay yet, and
	# an injected error comes after the delay, like a slow failing disk's.
	[ "$pause" = 0 ] || args+=(--filter=pause)
	[ "$delay" = 0 ] || args+=(--filter=delay)
	[ "$error" = 0 ] || args+=(--filter=error)
	args+=(memory "size=$size")
	nbdkit_keys=",nbdkit=$filters,nbdkit-log=$nlog"
	if [ "$pause" = 1 ]; then
		args+=("pause-control=$work/$id.pause.sock")
		nbdkit_keys+=",pause-control=$work/$id.pause.sock"
	fi
	if [ "$delay" = 1 ]; then
		args+=("delay-read=${delay_read:-0}" "delay-write=${delay_write:-0}")
		nbdkit_keys+=",delay-read=${delay_read:-0},delay-write=${delay_write:-0}"
	fi
	if [ "$error" = 1 ]; then
		# Errors only while the file exists (nbd-error ID on|off).
		args+=(error-rate=100% "error-file=$work/$id.error")
		nbdkit_keys+=",error-file=$work/$id.error"
	fi
	# The pid file appears once nbdkit listens.
	launch_backend "$work/$id.nbdkit.cmd" "$nlog" -s "$pidf" "${args[@]}" ||
		die "--disk $spec: nbdkit did not start: $(tail -n 3 "$nlog")"
}

# vub_binary: print rvirtio-vub's path, building it first if need be.
vub_binary() {
	local crate=$here/../tests/vhost-user-blk
	if [ -n "${RVIRTIO_VUB:-}" ]; then
		[ -x "$RVIRTIO_VUB" ] || die "RVIRTIO_VUB=$RVIRTIO_VUB is not an executable"
		echo "$RVIRTIO_VUB"
		return
	fi
	# Up to date in a fraction of a second; cargo locks the target dir
	# against concurrent builds.
	cargo build --release --locked --quiet --manifest-path "$crate/Cargo.toml" >&2 ||
		die "building rvirtio-vub failed (cargo build in $crate)"
	echo "$crate/target/release/rvirtio-vub"
}

# start_vub ID SIZE FILE SERIAL RO OPTS: start an rvirtio-vub serving disk ID
# (SIZE bytes of RAM, or FILE) on $work/ID.vub.sock, with its control socket
# $work/ID.vub.ctl; OPTS are its +-separated options without the --. Waits
# until it listens. Sets vub_sock and vub_keys (for guest-ctl.py).
start_vub() {
	local id=$1 size=$2 file=$3 serial=$4 ro=$5 opts=$6 o vlog ctl ready
	local -a args ol
	[ -n "$vub_bin" ] || vub_bin=$(vub_binary)
	vub_sock=$work/$id.vub.sock ctl=$work/$id.vub.ctl ready=$work/$id.vub.ready
	[ "${#ctl}" -lt 100 ] || die "--disk $spec: socket path $ctl is too long (TMPDIR)"
	vlog=$work/$id.vub.log
	[ -z "$log" ] || vlog=$log.vub-$id
	args=("$vub_bin" --socket "$vub_sock" --control "$ctl" --ready "$ready")
	if [ -n "$file" ]; then
		args+=(--file "$file")
	else
		args+=(--size "$size")
	fi
	[ -z "$serial" ] || args+=(--serial "$serial")
	[ -z "$ro" ] || args+=(--ro)
	IFS=+ read -r -a ol <<<"$opts"
	for o in "${ol[@]}"; do
		case "$o" in
		'') ;;
		exec=*) args+=(--exec "$(printf '%s' "${o#exec=}" | tr ':' ' ')") ;;
		*=*) args+=("--${o%%=*}" "${o#*=}") ;;
		*) args+=("--$o") ;;
		esac
	done
	launch_backend "$work/$id.vub.cmd" "$vlog" -e "$ready" "${args[@]}" ||
		die "--disk $spec: rvirtio-vub did not start: $(tail -n 5 "$vlog")"
	vub_keys=",vub-control=$ctl,vub-log=$vlog,vub-opts=$opts"
}

devargs=() ctl_disks=()
vub_bin='' have_vub=0
port=0
scsi_luns=0
for spec in "${disks[@]}"; do
	id=d${port} size=256M serial='' file='' nbd='' nbd_export='' type=virtio-blk-pci ro=''
	use_nbdkit=0 nbdkit_filters='' delay_read='' delay_write='' nbdkit_keys=''
	use_vub=0 vub_opts='' vub_keys='' rom_ones=0
	props=()
	rest=$spec
	while [ -n "$rest" ]; do
		case "$rest" in
		opts=*)
			props+=("${rest#opts=}")
			break
			;;
		esac
		item=${rest%%,*}
		if [ "$item" = "$rest" ]; then rest=; else rest=${rest#*,}; fi
		[ -n "$item" ] || continue
		case "$item" in
		id=*) id=${item#id=} ;;
		size=*) size=${item#size=} ;;
		serial=*) serial=${item#serial=} ;;
		file=*) file=${item#file=} ;;
		nbd=*) nbd=${item#nbd=} ;;
		export=*) nbd_export=${item#export=} ;;
		nbdkit=*) use_nbdkit=1 nbdkit_filters=${item#nbdkit=} ;;
		vhost=*) use_vub=1 vub_opts=${item#vhost=} ;;
		type=vhost-user-blk | type=vhost-user-blk-pci) use_vub=1 ;;
		delay-read=*) delay_read=${item#delay-read=} ;;
		delay-write=*) delay_write=${item#delay-write=} ;;
		type=*) type=${item#type=} ;;
		readonly=on) ro=,read-only=on ;;
		readonly=off) ro='' ;;
		rom=ones) rom_ones=1 ;;
		*=*) props+=("$item") ;;
		*) die "--disk $spec: '$item' is not KEY=VALUE" ;;
		esac
	done
	port=$((port + 1))
	rom_prop=''
	if [ "$rom_ones" = 1 ]; then
		head -c 65536 /dev/zero | tr '\0' '\377' >"$work/$id.rom"
		rom_prop=romfile=$work/$id.rom
		# A LUN has no PCI function: the ROM goes to its host's.
		[ "$type" = scsi-hd ] || props+=("$rom_prop")
	fi
	if [ "$use_vub" = 1 ]; then
		# vhost-user-blk: no block node; the backend is the disk. QEMU's
		# num-queues is the backend's too, unless OPTS say otherwise.
		if [ -n "$nbd$nbd_export" ] || [ "$use_nbdkit" = 1 ]; then
			die "--disk $spec: vhost= excludes nbd=, export= and nbdkit="
		fi
		[ -z "$delay_read$delay_write" ] || die "--disk $spec: delay-read= and delay-write= need nbdkit=...delay"
		[ -z "$file" ] || [ -f "$file" ] || die "--disk $spec: no image $file"
		type=vhost-user-blk-pci
		for p in "${props[@]}"; do
			case "+$vub_opts+,$p" in
			*+num-queues=*) ;;
			*,num-queues=*) vub_opts+=${vub_opts:++}${p} ;;
			esac
		done
		start_vub "$id" "$size" "$file" "$serial" "$ro" "$vub_opts"
		have_vub=1
		dev=$type,bus=rp$port,chardev=vub-$id,id=$id
		for p in "${props[@]}"; do dev+=",$p"; done
		devargs+=(-device "pcie-root-port,id=rp$port,chassis=$port,slot=$port"
			-chardev "socket,id=vub-$id,path=$vub_sock" -device "$dev")
		ctl_disks+=(--disk "id=$id,size=$size,serial=$serial,type=$type,file=$file$vub_keys")
		continue
	fi
	if [ "$use_nbdkit" = 1 ]; then
		[ -z "$nbd$file$nbd_export" ] || die "--disk $spec: nbdkit= excludes nbd=, export= and file="
		start_nbdkit "$id" "$size" "$nbdkit_filters" "$delay_read" "$delay_write"
	elif [ -n "$delay_read$delay_write" ]; then
		die "--disk $spec: delay-read= and delay-write= need nbdkit=...delay"
	fi
	if [ -n "$nbd" ]; then
		# QEMU's NBD client with its defaults: no reconnect-delay (a lost
		# connection fails the requests at once), no open-timeout, and the
		# raw node's discard=ignore (discards are not passed on).
		backend=file.driver=nbd,file.server.type=unix,file.server.path=$nbd${nbd_export:+,file.export=$nbd_export}
	else
		if [ -z "$file" ]; then
			file=$work/$id.img
			truncate -s "$size" "$file"
		fi
		[ -f "$file" ] || die "--disk $spec: no image $file"
		backend=file.driver=file,file.filename=$file,discard=unmap
	fi
	if [ "$type" = scsi-hd ]; then
		if [ "$scsi_luns" = 0 ]; then
			devargs+=(-device "pcie-root-port,id=rp$port,chassis=$port,slot=$port"
				-device "virtio-scsi-pci,id=scsi0,bus=rp$port${rom_prop:+,$rom_prop}")
		elif [ -n "$rom_prop" ]; then
			die "--disk $spec: rom=ones goes on the first scsi-hd disk (its host's)"
		fi
		dev=$type,bus=scsi0.0,drive=$id,id=$id${serial:+,serial=$serial}
		case ",${props[*]}," in
		*scsi-id=*) ;;
		*) dev+=",scsi-id=$scsi_luns" ;;
		esac
		scsi_luns=$((scsi_luns + 1))
	else
		dev=$type,bus=rp$port,drive=$id,id=$id${serial:+,serial=$serial}
		devargs+=(-device "pcie-root-port,id=rp$port,chassis=$port,slot=$port")
	fi
	for p in "${props[@]}"; do dev+=",$p"; done
	devargs+=(-blockdev "driver=raw,node-name=$id$ro,$backend" -device "$dev")
	ctl_disks+=(--disk "id=$id,size=$size,serial=$serial,type=$type,file=$file,nbd=$nbd,export=$nbd_export$nbdkit_keys")
done
[ ${#backend_pids[@]} -eq 0 ] || start_nbdkit_watchdog
for _ in $(seq "$spare_ports"); do
	port=$((port + 1))
	devargs+=(-device "pcie-root-port,id=rp$port,chassis=$port,slot=$port")
done

# ------------------------------------------------- the control channel --
ctl_sock=$work/ctl.sock ctl_qmp=$work/ctl-qmp.sock
ctl_log=/dev/null
[ -z "$log" ] || ctl_log=$log.ctl
: >"$ctl_log"
"$PYTHON" "$here/guest-ctl.py" --socket "$ctl_sock" --qmp "$ctl_qmp" --log "$ctl_log" \
	--ready "$work/ctl.ready" "${ctl_disks[@]}" &
ctl_pid=$!
for _ in $(seq 100); do
	[ -e "$work/ctl.ready" ] && break
	kill -0 "$ctl_pid" 2>/dev/null || die "guest-ctl.py did not start"
	sleep 0.05
done
[ -e "$work/ctl.ready" ] || die "guest-ctl.py did not start"

# ----------------------------------------------------------------- QEMU --
cmdline="console=ttyS0,115200 rdinit=/init panic=-1 hung_task_panic=0 kasan_multi_shot"
cmdline+=" loglevel=7 printk.time=1 printk.devkmsg=on"
[ -z "$append" ] || cmdline+=" $append"

guest_mem=2G
# RVIRTIO_QEMU picks the QEMU (scripts/env.sh); an unpacked one finds its
# own firmware first.
qemu=("$RVIRTIO_QEMU_BIN")
[ -z "$RVIRTIO_QEMU_DATADIR" ] ||
	qemu+=(-L "$RVIRTIO_QEMU_DATADIR" -L /usr/share/seabios -L /usr/lib/ipxe/qemu)
qemu+=(-M q35 -accel tcg -m "$guest_mem" -smp 2 -nodefaults -nographic -no-reboot
	-kernel "$kernel" -initrd "$work/initrd" -append "$cmdline")
if [ "$have_vub" = 1 ]; then
	# A vhost-user backend maps the guest's RAM: it must be shareable.
	qemu+=(-object "memory-backend-memfd,id=mem,size=$guest_mem,share=on" -machine memory-backend=mem)
fi
if [ "$shell" = 1 ]; then
	qemu+=(-serial mon:stdio)
else
	qemu+=(-serial stdio)
fi
qemu+=(-chardev "socket,id=ctl,path=$ctl_sock" -serial chardev:ctl
	-qmp "unix:$ctl_qmp,server=on,wait=off")
[ -z "$user_qmp" ] || qemu+=(-qmp "unix:$user_qmp,server=on,wait=off")
qemu+=("${devargs[@]}" "${qemu_extra[@]}")
if [ "$timeout_s" -gt 0 ]; then
	qemu=(timeout --foreground -k 10 "$timeout_s" "${qemu[@]}")
fi
printf '%q ' "${qemu[@]}" >"$work/qemu.cmd"
echo >>"$work/qemu.cmd"

# stop_after_exit PID: once the guest printed its exit marker, give it
# $exit_grace seconds to power off, then stop PID (QEMU, or the timeout
# running it, which passes the signal on).
stop_after_exit() {
	local pid=$1
	while kill -0 "$pid" 2>/dev/null; do
		if tr -d '\r' <"$qemu_log" | grep -aq '^RVIRTIO-EXIT: '; then
			sleep "$exit_grace"
			kill -0 "$pid" 2>/dev/null || return 0
			echo "guest.sh: the guest did not power off ${exit_grace}s after its exit marker: QEMU stopped" >&2
			kill -TERM "$pid" 2>/dev/null || true
			return 0
		fi
		sleep 1
	done
}

start=$(date +%s%N)
set +e
if [ "$shell" = 1 ]; then
	"${qemu[@]}" 2>&1 | tee "$qemu_log"
	qemu_rc=${PIPESTATUS[0]}
elif [ "$quiet" = 1 ] && [ "$exit_grace" -gt 0 ]; then
	"${qemu[@]}" </dev/null >"$qemu_log" 2>&1 &
	qemu_pid=$!
	stop_after_exit "$qemu_pid" &
	stopper=$!
	wait "$qemu_pid"
	qemu_rc=$?
	kill "$stopper" 2>/dev/null
	wait "$stopper" 2>/dev/null
elif [ "$quiet" = 1 ]; then
	"${qemu[@]}" </dev/null >"$qemu_log" 2>&1
	qemu_rc=$?
else
	"${qemu[@]}" </dev/null 2>&1 | tee "$qemu_log"
	qemu_rc=${PIPESTATUS[0]}
fi
set -e
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ -z "$log" ] || cp "$qemu_log" "$log"

marker=$(tr -d '\r' <"$qemu_log" | sed -n 's/^RVIRTIO-EXIT: \([0-9]*\)$/\1/p' | tail -n 1)
booted=$(tr -d '\r' <"$qemu_log" | sed -n 's/^RVIRTIO-BOOTED: //p' | tail -n 1)
summary=$(printf 'guest.sh: %d.%ds in QEMU, /init started at %ss guest uptime' \
	$((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100)) "${booted:-?}")
if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
	echo "$summary; TIMEOUT after ${timeout_s}s" >&2
	exit 124
elif [ -n "$marker" ]; then
	[ "$quiet" = 1 ] || echo "$summary; exit $marker" >&2
	exit "$marker"
elif [ "$qemu_rc" != 0 ]; then
	echo "$summary; QEMU failed (exit $qemu_rc): $(tail -n 3 "$qemu_log")" >&2
	exit 125
else
	panic=$(tr -d '\r' <"$qemu_log" | grep -m 1 'Kernel panic' || true)
	echo "$summary; the guest stopped without an exit marker: ${panic:-no panic message}" >&2
	exit 125
fi
