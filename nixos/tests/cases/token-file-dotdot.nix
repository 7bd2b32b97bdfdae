# expect: error services.archil.mounts.d.authTokenFile: must be normalized
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.d = {
      diskName = "myorg/d";
      mountPoint = "/mnt/d";
      region = "aws-us-east-1";
      authMethod = "token";
      authTokenFile = "/run/secrets/../x";
    };
  };
}
