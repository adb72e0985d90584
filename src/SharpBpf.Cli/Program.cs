using SharpBpf.Cli;

return Cli.Run(args);
