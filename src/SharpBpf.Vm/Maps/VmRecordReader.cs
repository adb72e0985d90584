using SharpBpf.Events;

namespace SharpBpf.Vm;

internal interface IVmRecordProducer
{
    int Consume<TVisitor>(ref TVisitor visitor, int max) where TVisitor : IRecordVisitor, allows ref struct;

    long Lost { get; }
}

/// <summary>The <see cref="IRecordSource"/> of an emulated ring buffer or perf event array: the same reader machinery
/// (value-type handlers, <c>ReadInto</c>, waiting with wake-up on close) as the kernel readers; the VM wakes a
/// waiting reader after each run that produced records.</summary>
internal sealed class VmRecordReader(IVmRecordProducer producer) : RecordReader
{
    public override long LostRecords => producer.Lost;

    private protected override int ConsumeCore<TVisitor>(ref TVisitor visitor, int max) => producer.Consume(ref visitor, max);

    private protected override void ReleaseResources() { }

    public void Wake() => Waiter.Wake();
}
