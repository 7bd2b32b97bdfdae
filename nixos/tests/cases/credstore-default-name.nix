# expect: ok
# credstore names are global: the default credential is archil-token.<name>.
# unit-line: archil-mount-vault.service ImportCredential=archil-token.vault
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.vault = {
    diskName = "myorg/vault";
    mountPoint = "/srv/vault";
    region = "aws-us-east-1";
    authMethod = "token";
    credstore = true;
  };
}
