# expect: error services.archil.mounts.w.authToken: the token contains whitespace
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.w = {
      diskName = "myorg/w";
      mountPoint = "/mnt/w";
      region = "aws-us-east-1";
      authMethod = "token";
      authToken = "two words";
    };
  };
}
