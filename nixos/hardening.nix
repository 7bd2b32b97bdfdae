# The hardening of a mount's service: serviceConfig settings, merged into
# the unit after the rest.
#
# Nothing here may give the service a mount namespace of its own: a FUSE
# mount made inside one is invisible to the rest of the system. Not used
# for that reason (each makes systemd set one up): ProtectSystem,
# ProtectHome, PrivateTmp, PrivateDevices, PrivateMounts,
# ProtectKernelTunables, ProtectKernelModules, ProtectKernelLogs,
# ProtectControlGroups, ProtectProc and ProcSubset (other than the
# default), PrivateIPC, PrivatePIDs, PrivateNetwork, DynamicUser, every
# *Paths= option (ReadWritePaths, ReadOnlyPaths, InaccessiblePaths,
# ExecPaths, NoExecPaths), BindPaths, BindReadOnlyPaths,
# TemporaryFileSystem, RootDirectory, RootImage, MountFlags other than
# shared, LogNamespace, and NixOS' `confinement`. PrivateUsers is not used
# either: mounting needs CAP_SYS_ADMIN in the host's user namespace.
# ProtectClock and ProtectHostname need no mount namespace (a seccomp
# filter and device rule, and a UTS namespace). RemoveIPC is not set: it
# acts only on a service's own non-root user, and this one runs as root.
#
# Priorities: a scalar is mkDefault, so a plain definition replaces it. A
# list is set at normal priority, so a list the user sets for the same
# unit (systemd.services.archil-mount-<name>.serviceConfig.DeviceAllow =
# [ "/dev/net/tun rw" ]) adds to what the mount needs instead of
# replacing it (a mkDefault list would be dropped whole, and with it
# /dev/fuse); lib.mkForce replaces it. Where systemd reads the first
# entry as the kind of list (allow or deny, for SystemCallFilter and
# RestrictAddressFamilies), ours come first (mkBefore).
{ lib }:
{
  # CAP_SYS_RESOURCE: the launcher exempts itself from the OOM killer.
  CapabilityBoundingSet = [
    "CAP_SYS_ADMIN"
    "CAP_SYS_RESOURCE"
  ];
  NoNewPrivileges = lib.mkDefault true;
  # FUSE clients mount with mount(2) as root or through the
  # fusermount/fusermount3 helper, which calls the setuid family even as
  # root (setuid(0) before it runs mount/umount for mtab; libfuse3 does the
  # same when it mounts itself): so no ~@privileged and no ~@setuid.
  # @system-service already has @setuid, @chown (a client that keeps file
  # owners) and capset (a client that drops capabilities with libcap);
  # @setuid is named to say it is needed. Of what ~@privileged denied, only
  # chroot and pivot_root (from @mount) stay denied: no FUSE client changes
  # its root.
  SystemCallFilter = lib.mkBefore [
    "@system-service"
    "@mount"
    "@setuid"
    "~chroot pivot_root"
  ];
  SystemCallErrorNumber = lib.mkDefault "EPERM";
  SystemCallArchitectures = lib.mkDefault "native";
  RestrictAddressFamilies = lib.mkBefore [
    "AF_UNIX"
    "AF_INET"
    "AF_INET6"
    "AF_NETLINK"
  ];
  RestrictNamespaces = lib.mkDefault true;
  RestrictRealtime = lib.mkDefault true;
  RestrictSUIDSGID = lib.mkDefault true;
  LockPersonality = lib.mkDefault true;
  MemoryDenyWriteExecute = lib.mkDefault true;
  ProtectClock = lib.mkDefault true;
  ProtectHostname = lib.mkDefault true;
  DevicePolicy = lib.mkDefault "closed";
  DeviceAllow = [ "/dev/fuse rw" ];
  # Mount points (and their parents) are created 0755 for other users to
  # reach the disk; a stricter umask would make them 0700.
  UMask = lib.mkDefault "0022";
  KeyringMode = lib.mkDefault "private";
}
