# expect: error services.archil.mounts.i.authMethod is "iam", which uses no token
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.i = {
      diskName = "myorg/i";
      mountPoint = "/mnt/i";
      region = "aws-us-east-1";
      encryptedAuthTokenFile = "/etc/credstore.encrypted/archil-token";
    };
  };
}
