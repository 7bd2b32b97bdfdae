# expect: error services.archil.mounts.r.restartMaxDelaySec: must not be less than services.archil.mounts.r.restartSec (60)
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.r = {
      diskName = "myorg/r";
      mountPoint = "/mnt/r";
      region = "aws-us-east-1";
      restartSec = 60;
      restartMaxDelaySec = 30;
    };
  };
}
