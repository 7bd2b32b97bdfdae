# expect: ok
# A user adds to each hardening list of a mount: the entries the mount
# needs stay, in front where the first entry decides the list's kind, and
# a scalar set plainly replaces the module's default.
# unit-line: archil-mount-h.service DeviceAllow=/dev/fuse rw
# unit-line: archil-mount-h.service DeviceAllow=/dev/net/tun rw
# unit-line: archil-mount-h.service SystemCallFilter=@mount
# unit-line: archil-mount-h.service SystemCallFilter=~@resources
# unit-line: archil-mount-h.service RestrictAddressFamilies=AF_UNIX
# unit-line: archil-mount-h.service RestrictAddressFamilies=AF_PACKET
# unit-line: archil-mount-h.service CapabilityBoundingSet=CAP_SYS_ADMIN
# unit-line: archil-mount-h.service CapabilityBoundingSet=CAP_NET_ADMIN
# unit-line: archil-mount-h.service NoNewPrivileges=false
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.h = {
    diskName = "myorg/h";
    mountPoint = "/srv/h";
    region = "aws-us-east-1";
  };
  systemd.services.archil-mount-h.serviceConfig = {
    DeviceAllow = [ "/dev/net/tun rw" ];
    SystemCallFilter = [ "~@resources" ];
    RestrictAddressFamilies = [ "AF_PACKET" ];
    CapabilityBoundingSet = [ "CAP_NET_ADMIN" ];
    NoNewPrivileges = false;
  };
}
