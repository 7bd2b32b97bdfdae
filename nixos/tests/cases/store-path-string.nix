# expect: error A definition for option `services.archil.mounts.s.encryptedAuthTokenFile' is not of type `null or absolute path not in the Nix store, as a string'
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
      encryptedAuthTokenFile = "/nix/store/00000000000000000000000000000000-archil-token.cred";
    };
  };
}
