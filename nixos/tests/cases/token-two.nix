# expect: error must be set (found 2)
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.t = {
      diskName = "myorg/t";
      mountPoint = "/mnt/t";
      region = "aws-us-east-1";
      authMethod = "token";
      authTokenFile = "/run/secrets/archil";
      credstore = true;
    };
  };
}
