# expect: error services.archil.mounts.s.encryptedAuthTokenFile: must be normalized
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.s = {
      diskName = "myorg/s";
      mountPoint = "/mnt/s";
      region = "aws-us-east-1";
      authMethod = "token";
      encryptedAuthTokenFile = "/etc/credstore.encrypted/x/";
    };
  };
}
