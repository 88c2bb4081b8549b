namespace Fantasy.Actors.Protocol;

/// <summary>The <c>type</c> strings of the input and output items the client reads or writes.</summary>
public static class ItemTypes
{
    public const string Message = "message";
    public const string FunctionCall = "function_call";
    public const string FunctionCallOutput = "function_call_output";
    public const string Reasoning = "reasoning";

    /// <summary>Content parts of a message.</summary>
    public const string InputText = "input_text";
    public const string InputImage = "input_image";
    public const string InputFile = "input_file";
    public const string OutputText = "output_text";

    /// <summary>A part of a reasoning item's <c>summary</c>.</summary>
    public const string SummaryText = "summary_text";
}
