# expect: error services.archil.mounts.n.authTokenFile: must not contain control characters
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.n = {
      diskName = "myorg/n";
      mountPoint = "/mnt/n";
      region = "aws-us-east-1";
      authMethod = "token";
      authTokenFile = "/run/secrets/x\nExecStartPre=/bin/sh -c id";
    };
  };
}
