# expect: ok
# warning: services.archil.mounts.r.restartOnCredentialChange: /run/agenix/archil-r is in a directory that agenix (/run/agenix) or sops-nix (/run/secrets) replaces through a symlink
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.r = {
    diskName = "myorg/r";
    mountPoint = "/srv/r";
    region = "aws-us-east-1";
    authMethod = "token";
    authTokenFile = "/run/agenix/archil-r";
    restartOnCredentialChange = true;
  };
}
