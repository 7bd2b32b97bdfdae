# expect: ok
# The README's agenix recipe, with agenix's age.secrets declared
# (tests/glue/agenix.nix): the token file is the secret's path.
# unit-line: archil-mount-data.service LoadCredential=archil-token:/run/agenix/archil-data
# unit-line: archil-token-data.path PathChanged=/run/agenix/archil-data
{ config, ... }:
{
  imports = [
    ./common/enabled.nix
    ../glue/agenix.nix
  ];
  age.secrets.archil-data.file = ./secrets/archil-data.age;
  services.archil.mounts.data = {
    diskName = "myorg/data";
    mountPoint = "/mnt/data";
    region = "aws-us-east-1";
    authMethod = "token";
    authTokenFile = config.age.secrets.archil-data.path;
    restartOnCredentialChange = true;
  };
}
