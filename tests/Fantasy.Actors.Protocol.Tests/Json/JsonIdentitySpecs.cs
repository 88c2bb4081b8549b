using System.Text.Json;
using Fantasy.Actors.Protocol.Json;

namespace Fantasy.Actors.Protocol.Tests.Json;

/// <summary>The same element, told apart from equal ones without reading documents.</summary>
public sealed class JsonIdentitySpecs
{
    [Fact]
    public void An_element_is_the_same_as_itself_and_its_copies()
    {
        var element = JsonDocument.Parse("""{"type":"message","content":"x"}""").RootElement;
        var copy = element;
        var fromList = new List<JsonElement> { element }[0];

        Assert.True(JsonIdentity.Same(element, copy));
        Assert.True(JsonIdentity.Same(element, fromList));
    }

    [Fact]
    public void Equal_elements_of_other_documents_or_other_positions_are_not_the_same()
    {
        var a = JsonDocument.Parse("""{"type":"message","content":"x"}""").RootElement;
        var b = JsonDocument.Parse("""{"type":"message","content":"x"}""").RootElement;
        var array = JsonDocument.Parse("""[{"n":1},{"n":1}]""").RootElement;

        Assert.False(JsonIdentity.Same(a, b));
        Assert.False(JsonIdentity.Same(array[0], array[1]));
        Assert.True(JsonIdentity.Same(array[1], array[1]));
        Assert.False(JsonIdentity.Same(default, default));
        Assert.False(JsonIdentity.Same(a, default));
    }
}
