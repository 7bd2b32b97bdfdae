# expect: ok
# File systems the mount point lives on (/ and /mnt), and one beside it
# that only shares a prefix.
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.d = {
    diskName = "myorg/d";
    mountPoint = "/mnt/d";
    region = "aws-us-east-1";
  };
  fileSystems."/".device = "/dev/sda1";
  fileSystems."/mnt".device = "/dev/sda2";
  fileSystems."/mnt/data".device = "/dev/sda3";
}
