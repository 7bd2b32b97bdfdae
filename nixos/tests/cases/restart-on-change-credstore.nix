# expect: error services.archil.mounts.c.restartOnCredentialChange: needs a token file to watch
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.c = {
    diskName = "myorg/c";
    mountPoint = "/srv/c";
    region = "aws-us-east-1";
    authMethod = "token";
    credstore = true;
    restartOnCredentialChange = true;
  };
}
