# expect: error services.archil.mounts.e.environment: PATH: is set by the unit from its `path`
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.e = {
      diskName = "myorg/e";
      mountPoint = "/mnt/e";
      region = "aws-us-east-1";
      environment.PATH = "/opt/bin";
    };
  };
}
