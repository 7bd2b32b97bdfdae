# expect: error services.archil.mounts.c.targetCacheMB: must not exceed maxCacheMB
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.c = {
      diskName = "myorg/c";
      mountPoint = "/mnt/c";
      region = "aws-us-east-1";
      maxCacheMB = 100;
      targetCacheMB = 200;
    };
  };
}
