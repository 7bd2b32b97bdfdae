# expect: ok
# Disabled: mounts are declared but nothing is checked or rendered, and no
# package is needed.
{
  services.archil.mounts.x = {
    diskName = "not a disk";
    mountPoint = "relative";
    region = "?";
  };
}
