# expect: error services.archil.mounts.z.authToken: the token is empty
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.z = {
      diskName = "myorg/z";
      mountPoint = "/mnt/z";
      region = "aws-us-east-1";
      authMethod = "token";
      authToken = "";
    };
  };
}
