# expect: error services.archil.mounts.b.authTokenFile: must not end in whitespace or a backslash
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.b = {
      diskName = "myorg/b";
      mountPoint = "/mnt/b";
      region = "aws-us-east-1";
      authMethod = "token";
      authTokenFile = "/run/keys/tok\\";
    };
  };
}
