# expect: ok
# The README's sops-nix recipe, with sops-nix's sops.secrets declared
# (tests/glue/sops.nix): restartUnits names the mount's service.
# unit-line: archil-mount-data.service LoadCredential=archil-token:/run/secrets/archil-data
# no-unit: archil-token-data.path
{ config, ... }:
{
  imports = [
    ./common/enabled.nix
    ../glue/sops.nix
  ];
  sops.secrets.archil-data = {
    sopsFile = ./secrets/archil.yaml;
    restartUnits = [ "archil-mount-data.service" ];
  };
  services.archil.mounts.data = {
    diskName = "myorg/data";
    mountPoint = "/mnt/data";
    region = "aws-us-east-1";
    authMethod = "token";
    authTokenFile = config.sops.secrets.archil-data.path;
  };
}
