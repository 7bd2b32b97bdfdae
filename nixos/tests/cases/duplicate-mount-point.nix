# expect: error services.archil.mounts.two.mountPoint: /mnt/same is also the mount point of services.archil.mounts.one
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.one = {
      diskName = "myorg/one";
      mountPoint = "/mnt/same";
      region = "aws-us-east-1";
    };
    mounts.two = {
      diskName = "myorg/two";
      mountPoint = "/mnt/same";
      region = "aws-us-east-1";
    };
  };
}
