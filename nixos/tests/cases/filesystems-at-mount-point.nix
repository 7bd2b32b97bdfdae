# expect: error services.archil.mounts.d.mountPoint: fileSystems."/mnt/d" mounts /mnt/d, the mount point itself
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.d = {
    diskName = "myorg/d";
    mountPoint = "/mnt/d";
    region = "aws-us-east-1";
  };
  fileSystems."/mnt/d".device = "/dev/sdb1";
}
