# expect: ok
# The README's agenix recipe, with agenix's age.secrets declared
# (tests/glue/agenix.nix): the token file is the secret's path, moved into
# place (symlink = false) outside agenix's symlinked /run/agenix so that
# restartOnCredentialChange sees a new token.
# unit-line: archil-mount-data.service LoadCredential=archil-token:/run/archil-secrets/data
# unit-line: archil-token-data.path PathChanged=/run/archil-secrets/data
{ config, ... }:
{
  imports = [
    ./common/enabled.nix
    ../glue/agenix.nix
  ];
  age.secrets.archil-data = {
    file = ./secrets/archil-data.age;
    path = "/run/archil-secrets/data";
    symlink = false;
  };
  services.archil.mounts.data = {
    diskName = "myorg/data";
    mountPoint = "/mnt/data";
    region = "aws-us-east-1";
    authMethod = "token";
    authTokenFile = config.age.secrets.archil-data.path;
    restartOnCredentialChange = true;
  };
}
