# expect: ok
# The encrypted file is compared after decryption with its credential name.
# unit-line: archil-token-e.path PathChanged=/etc/credstore.encrypted/archil-e
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.e = {
    diskName = "myorg/e";
    mountPoint = "/srv/e";
    region = "aws-us-east-1";
    authMethod = "token";
    encryptedAuthTokenFile = "/etc/credstore.encrypted/archil-e";
    credentialName = "archil-e";
    restartOnCredentialChange = true;
  };
}
