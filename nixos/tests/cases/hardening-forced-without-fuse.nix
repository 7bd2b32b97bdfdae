# expect: error systemd.services.archil-mount-h.serviceConfig.DeviceAllow does not allow /dev/fuse, which services.archil.mounts.h needs to mount
# expect-also: systemd.services.archil-mount-h.serviceConfig.CapabilityBoundingSet does not allow CAP_SYS_ADMIN
# Lists replaced with lib.mkForce lose what the mount needs: evaluation
# fails instead of a mount that fails at every boot.
{ lib, ... }:
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.h = {
    diskName = "myorg/h";
    mountPoint = "/srv/h";
    region = "aws-us-east-1";
  };
  systemd.services.archil-mount-h.serviceConfig = {
    DeviceAllow = lib.mkForce [ "/dev/net/tun rw" ];
    CapabilityBoundingSet = lib.mkForce [ "CAP_NET_ADMIN" ];
  };
}
