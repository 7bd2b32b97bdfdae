# expect: error services.archil.mounts.d.mountPoint: fileSystems."cache" mounts /mnt/d/cache, inside the mount point
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.d = {
    diskName = "myorg/d";
    mountPoint = "/mnt/d";
    region = "aws-us-east-1";
  };
  fileSystems.cache = {
    mountPoint = "/mnt/d/cache";
    device = "tmpfs";
    fsType = "tmpfs";
  };
}
