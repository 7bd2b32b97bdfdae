# expect: error services.archil.mounts.e.environment: ARCHIL_MOUNT_TOKEN: must not be passed to the client
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.e = {
      diskName = "myorg/e";
      mountPoint = "/mnt/e";
      region = "aws-us-east-1";
      environment.ARCHIL_MOUNT_TOKEN = "oops";
    };
  };
}
