# expect: error services.archil.mounts.m.requiredBy: mnt-m.mount starts before the mount's service
# The mount point's own .mount unit: the service is ordered after it (so
# that systemd's plain umount comes after our flushing stop).
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.m = {
    diskName = "myorg/m";
    mountPoint = "/mnt/m";
    region = "aws-us-east-1";
    requiredBy = [ "mnt-m.mount" ];
  };
}
