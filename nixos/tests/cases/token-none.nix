# expect: error services.archil.mounts.t.authMethod is "token", so exactly one of services.archil.mounts.t.authToken, services.archil.mounts.t.authTokenFile, services.archil.mounts.t.encryptedAuthTokenFile, services.archil.mounts.t.credstore must be set (found 0)
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
    };
  };
}
