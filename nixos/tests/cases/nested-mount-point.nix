# expect: error services.archil.mounts.inner.mountPoint: /mnt/outer/inner is inside services.archil.mounts.outer.mountPoint (/mnt/outer); mount points must not be nested
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.outer = {
      diskName = "myorg/outer";
      mountPoint = "/mnt/outer";
      region = "aws-us-east-1";
    };
    mounts.inner = {
      diskName = "myorg/inner";
      mountPoint = "/mnt/outer/inner";
      region = "aws-us-east-1";
    };
  };
}
